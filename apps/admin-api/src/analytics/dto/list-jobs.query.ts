import { IntersectionType } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { JOB_STATUSES, JobStatus } from '@app/db';
import { PageQueryDto } from '@app/http';
import { DateRangeQueryDto } from './date-range.query';

export class ListJobsQueryDto extends IntersectionType(PageQueryDto, DateRangeQueryDto) {
  /** Only jobs in this status. */
  @IsOptional()
  @IsIn(JOB_STATUSES)
  status?: JobStatus;
}
