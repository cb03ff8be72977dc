/** The journal file cannot be used: not SQLite, damaged, another program's, from a newer homenet, or in a directory others can write to. Names the file. */
export class JournalOpenError extends Error {
  constructor(
    readonly path: string,
    readonly reason: 'corrupt' | 'foreign' | 'newer-schema' | 'io' | 'insecure',
    detail: string,
  ) {
    super(`journal ${path}: ${detail}`);
    this.name = 'JournalOpenError';
  }
}

/** A call with bad arguments; nothing was written. */
export class JournalInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JournalInputError';
  }
}
