import { Global, Module } from '@nestjs/common';
import { AdminDb } from './admin-db';

@Global()
@Module({ providers: [AdminDb], exports: [AdminDb] })
export class AdminDbModule {}
