import { Initial1795363983038 } from './1795363983038-Initial';

/** Every migration, in order; listed explicitly so the webpack bundles carry them. */
export const MIGRATIONS = [Initial1795363983038];
