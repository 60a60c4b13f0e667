import { Module } from '@nestjs/common';
import { CredentialCipher } from '@app/auth';
import { CatalogService } from './catalog.service';
import { RoutingService } from './routing.service';

@Module({
  providers: [CatalogService, RoutingService, CredentialCipher],
  exports: [CatalogService, RoutingService],
})
export class RoutingModule {}
