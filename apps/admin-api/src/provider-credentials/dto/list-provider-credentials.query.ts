import { IsIn, IsOptional, IsString } from 'class-validator';
import { PROVIDERS, Provider } from '@app/db';
import { PageQueryDto } from '@app/http';

export class ListProviderCredentialsQueryDto extends PageQueryDto {
  /** Only the credentials owned by this organization (shared ones have none). */
  @IsOptional()
  @IsString()
  organization_id?: string;

  @IsOptional()
  @IsIn(PROVIDERS)
  provider?: Provider;
}
