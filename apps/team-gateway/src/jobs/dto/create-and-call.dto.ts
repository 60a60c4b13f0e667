import { IsObject, IsOptional, IsString, Length } from 'class-validator';
import { LlmCallDto } from '../../calls/dto/llm-call.dto';

/** A one-call job: the job fields plus the call. */
export class CreateAndCallDto extends LlmCallDto {
  /** Must be the key's own team when given. */
  @IsOptional()
  @IsString()
  @Length(1, 128)
  team_id?: string;

  @IsString()
  @Length(1, 255)
  job_type!: string;

  @IsOptional()
  @IsString()
  @Length(1, 255)
  user_id?: string;

  /** The job's metadata. */
  @IsOptional()
  @IsObject()
  metadata?: Record<string, unknown>;

  /** Synonym of metadata. */
  @IsOptional()
  @IsObject()
  job_metadata?: Record<string, unknown>;
}
