import { IsObject, IsOptional, IsString, Length } from 'class-validator';
import { CompiledValidation } from '@app/http';

@CompiledValidation()
export class CreateJobDto {
  /** Must be the key's own team when given. */
  @IsOptional()
  @IsString()
  @Length(1, 128)
  team_id?: string;

  /** What the job does, e.g. "document_analysis". */
  @IsString()
  @Length(1, 255)
  job_type!: string;

  /** The end user the job runs for. */
  @IsOptional()
  @IsString()
  @Length(1, 255)
  user_id?: string;

  /** The job's metadata. */
  @IsOptional()
  @IsObject()
  metadata?: Record<string, unknown>;
}
