import { Module } from '@nestjs/common';
import { CredentialCipher } from '@app/auth';
import { ProviderCredentialsController } from './provider-credentials.controller';
import { ProviderCredentialsService } from './provider-credentials.service';

@Module({
  controllers: [ProviderCredentialsController],
  providers: [ProviderCredentialsService, CredentialCipher],
  exports: [ProviderCredentialsService],
})
export class ProviderCredentialsModule {}
