/** on-exit-leak-free 2.x (pino's own helper) ships no types: the part the logger uses. */
declare module 'on-exit-leak-free' {
  type ExitHandler<T extends object> = (target: T, event: 'exit' | 'beforeExit') => void;
  const onExit: {
    /** Runs `handler` at process exit while `target` is alive (held weakly). */
    register<T extends object>(target: T, handler: ExitHandler<T>): void;
    unregister(target: object): void;
  };
  export default onExit;
}
