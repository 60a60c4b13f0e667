import { IsIn, IsISO8601, IsOptional } from 'class-validator';
import { JOB_STATUSES, JobStatus } from '@app/db';
import { PageQueryDto } from '@app/http';

export class ListJobsQueryDto extends PageQueryDto {
  @IsOptional()
  @IsIn(JOB_STATUSES)
  status?: JobStatus;

  /** Jobs created at or after this instant (ISO 8601). */
  @IsOptional()
  @IsISO8601()
  from?: string;

  /** Jobs created before this instant (ISO 8601). */
  @IsOptional()
  @IsISO8601()
  to?: string;
}

export class UsageQueryDto {
  /** Start of the period (ISO 8601); default: 30 days ago. */
  @IsOptional()
  @IsISO8601()
  from?: string;

  /** End of the period (ISO 8601, exclusive); default: now. */
  @IsOptional()
  @IsISO8601()
  to?: string;
}
