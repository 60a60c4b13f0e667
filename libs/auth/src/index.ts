export * from './admin-key.guard';
export * from './decorators';
export * from './public.decorator';
export * from './team-auth.guard';
export * from './team-principal';
export * from './virtual-key';
export * from './virtual-key.strategy';
export * from './credential-cipher';
