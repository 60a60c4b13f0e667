import { IsIn, IsOptional, IsString } from 'class-validator';
import { PROVIDERS, Provider } from '@app/db';
import type { DeploymentStatus } from '@app/db';
import { PageQueryDto } from '@app/http';
import { DEPLOYMENT_STATUSES } from './create-model.dto';

export class ListModelsQueryDto extends PageQueryDto {
  /** Only the deployments of this public model name. */
  @IsOptional()
  @IsString()
  model_name?: string;

  @IsOptional()
  @IsIn(PROVIDERS)
  provider?: Provider;

  @IsOptional()
  @IsIn(DEPLOYMENT_STATUSES)
  status?: DeploymentStatus;
}
