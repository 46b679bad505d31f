/** Errors every stage may raise; the leaf module, so it imports nothing of ours. */

/** A user-facing failure: `message` names the cause, `fix` what to do. */
export class VtopoError extends Error {
    constructor(message: string, readonly fix?: string, readonly code?: string) {
        super(message);
        this.name = 'VtopoError';
    }
}
