export * from './data-source';
export * from './db.module';
export * from './entities';
export * from './migrate';
export * from './sql';
export * from './keyset';
