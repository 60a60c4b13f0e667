import { Initial1795363983038 } from './1795363983038-Initial';
import { CreditLeases1796000000000 } from './1796000000000-CreditLeases';
import { AnalyticsIndexes1796290045574 } from './1796290045574-AnalyticsIndexes';
import { ProviderCredentialSettings1796400000000 } from './1796400000000-ProviderCredentialSettings';
import { CachePrices1796500000000 } from './1796500000000-CachePrices';
import { Webhooks1796600000000 } from './1796600000000-Webhooks';
import { AnalyticsRollups1796750000000 } from './1796750000000-AnalyticsRollups';
import { CustomPlans1796900000000 } from './1796900000000-CustomPlans';

/** Every migration, in order; listed explicitly so the webpack bundles carry them. */
export const MIGRATIONS = [
  Initial1795363983038,
  CreditLeases1796000000000,
  AnalyticsIndexes1796290045574,
  ProviderCredentialSettings1796400000000,
  CachePrices1796500000000,
  Webhooks1796600000000,
  AnalyticsRollups1796750000000,
  CustomPlans1796900000000,
];
