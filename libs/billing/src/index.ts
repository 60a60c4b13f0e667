export * from './ledger';
export * from './holds';
export * from './charges';
export * from './balance';
export * from './refills';
export * from './leases';
export * from './journal';
