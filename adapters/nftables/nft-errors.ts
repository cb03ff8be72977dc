/**
 * Typed errors of the nftables adapter. Every error that comes from `nft`
 * carries its exit code and stderr, and the script it was fed, so a log line
 * says exactly what the kernel refused.
 */

/** `nft` exited non-zero (syntax error, kernel refusal, missing table ...). */
export class NftCommandError extends Error {
  constructor(
    /** The argument vector that ran (e.g. `ip netns exec hn nft -f -`). */
    readonly argv: readonly string[],
    readonly exitCode: number,
    /** nft's stderr, verbatim. */
    readonly stderr: string,
    /** What was written to nft's standard input ('' when none). */
    readonly script: string,
  ) {
    super(`nft failed (exit ${exitCode}): ${stderr.trim().split('\n').slice(0, 6).join(' | ') || '(no stderr)'}`);
    this.name = 'NftCommandError';
  }

  /** The kernel said an element or object is missing (ENOENT). */
  get notFound(): boolean {
    return /No such file or directory/.test(this.stderr);
  }

  /** The kernel said an element exists with other data (EEXIST on a map). */
  get exists(): boolean {
    return /File exists/.test(this.stderr);
  }
}

/** An action or entry that cannot become a firewall element; nothing was applied. */
export class NftInvalidEntryError extends Error {
  constructor(
    /** The action key or entry id that is wrong. */
    readonly subject: string,
    readonly field: string,
    readonly value: unknown,
    why: string,
  ) {
    super(`invalid firewall entry ${subject}: ${field}=${JSON.stringify(value)}: ${why}`);
    this.name = 'NftInvalidEntryError';
  }
}

/** `nft -j` printed something this adapter cannot read. */
export class NftParseError extends Error {
  constructor(message: string) {
    super(`cannot read nft JSON: ${message}`);
    this.name = 'NftParseError';
  }
}
