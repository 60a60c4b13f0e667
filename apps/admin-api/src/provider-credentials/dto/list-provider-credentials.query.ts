import { IsIn, IsString } from 'class-validator';
import { PROVIDERS, Provider } from '@app/db';
import { OptionalNotNull, PageQueryDto } from '@app/http';

export class ListProviderCredentialsQueryDto extends PageQueryDto {
  /** Only the credentials owned by this organization (shared ones have none). */
  @OptionalNotNull()
  @IsString()
  organization_id?: string;

  @OptionalNotNull()
  @IsIn(PROVIDERS)
  provider?: Provider;
}
