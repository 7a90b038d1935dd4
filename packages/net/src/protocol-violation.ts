/** A protocol error found while parsing: `reply` is what Redis would answer before it closes the connection. */
export class ProtocolViolation {
  constructor(readonly reply: string) {}
}
