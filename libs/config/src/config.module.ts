import { DynamicModule, Global, Module } from '@nestjs/common';
import { AppName, loadConfig, TollgateConfig } from './tollgate-config';

export const TOLLGATE_CONFIG = Symbol('TOLLGATE_CONFIG');

/** Validates env at boot and provides the typed config under TOLLGATE_CONFIG. */
@Global()
@Module({})
export class TollgateConfigModule {
  static forRoot(app: AppName, config?: TollgateConfig): DynamicModule {
    return {
      module: TollgateConfigModule,
      providers: [{ provide: TOLLGATE_CONFIG, useValue: config ?? loadConfig(app) }],
      exports: [TOLLGATE_CONFIG],
    };
  }
}
