import { IntersectionType } from '@nestjs/swagger';
import { IsIn } from 'class-validator';
import { JOB_STATUSES, JobStatus } from '@app/db';
import { OptionalNotNull, PageQueryDto } from '@app/http';
import { DateRangeQueryDto } from './date-range.query';

export class ListJobsQueryDto extends IntersectionType(PageQueryDto, DateRangeQueryDto) {
  /** Only jobs in this status. */
  @OptionalNotNull()
  @IsIn(JOB_STATUSES)
  status?: JobStatus;
}
