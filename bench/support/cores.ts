/**
 * The split of the 2-core machine: the process being measured (Switchboard or its bare baseline)
 * on one core, whatever generates load on the other, so each side's CPU can be read apart.
 */
export const SERVER_CORE = '0';
export const LOAD_CORE = '1';
/** The cluster scenario: server workers and load generator share both cores. */
export const ALL_CORES = '0,1';
