// Spots a Linux kernel panic in a guest's serial output, even when the text arrives split
// across chunks, and returns the panic line (up to its end or what has arrived of it).
export const PANIC_TEXT = 'Kernel panic - not syncing';

export class PanicDetector {
  private tail = '';

  /** Feed output; returns the panic line when this chunk completes a panic message. */
  push(chunk: string): string | undefined {
    const text = this.tail + chunk;
    const at = text.indexOf(PANIC_TEXT);
    if (at < 0) {
      this.tail = text.slice(-(PANIC_TEXT.length - 1));
      return undefined;
    }
    this.tail = '';
    return text.slice(at).split(/\r?\n/)[0]!.trim();
  }
}
