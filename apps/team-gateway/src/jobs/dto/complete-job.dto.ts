import { IsIn, IsObject, IsOptional, IsString, MaxLength } from 'class-validator';
import { CompiledValidation } from '@app/http';

@CompiledValidation()
export class CompleteJobDto {
  /** completed (charged in job_based mode) or failed (free in job_based mode). */
  @IsIn(['completed', 'failed'])
  status!: 'completed' | 'failed';

  /** Merged into the job's metadata. */
  @IsOptional()
  @IsObject()
  metadata?: Record<string, unknown>;

  @IsOptional()
  @IsString()
  @MaxLength(10_000)
  error_message?: string;
}
