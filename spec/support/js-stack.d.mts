/** Runs `action` with about `frames` JavaScript frames below it. */
export function withJsStack<T>(frames: number, action: () => T): T;
/** The deepest padding of `withJsStack` under which a trivial action still runs. */
export function jsStackLimit(): number;
