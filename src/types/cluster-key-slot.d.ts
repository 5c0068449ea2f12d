declare module 'cluster-key-slot' {
  /** The Redis Cluster slot (0–16383) of a key or sharded channel; honours `{hash tags}`. */
  function calculateSlot(key: string | Buffer): number;
  namespace calculateSlot {
    /** The one slot of all `keys`, or -1 when they span several. */
    function generateMulti(keys: (string | Buffer)[]): number;
  }
  export = calculateSlot;
}
