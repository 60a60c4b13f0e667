export * from './config.module';
export * from './duration';
export * from './env.schema';
export * from './tollgate-config';
