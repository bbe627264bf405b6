// Serialises operations on one image. Controllers may issue requests concurrently, but cluster
// allocation and metadata caches must see one request at a time.
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}
