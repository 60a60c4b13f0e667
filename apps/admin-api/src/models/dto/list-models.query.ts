import { IsIn, IsString } from 'class-validator';
import { PROVIDERS, Provider } from '@app/db';
import type { DeploymentStatus } from '@app/db';
import { OptionalNotNull, PageQueryDto } from '@app/http';
import { DEPLOYMENT_STATUSES } from './create-model.dto';

export class ListModelsQueryDto extends PageQueryDto {
  /** Only the deployments of this public model name. */
  @OptionalNotNull()
  @IsString()
  model_name?: string;

  @OptionalNotNull()
  @IsIn(PROVIDERS)
  provider?: Provider;

  @OptionalNotNull()
  @IsIn(DEPLOYMENT_STATUSES)
  status?: DeploymentStatus;
}
