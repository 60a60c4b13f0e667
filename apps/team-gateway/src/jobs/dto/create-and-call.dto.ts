import { IntersectionType } from '@nestjs/swagger';
import { IsObject, IsOptional } from 'class-validator';
import { LlmCallDto } from '../../calls/dto/llm-call.dto';
import { CreateJobDto } from './create-job.dto';
import { CompiledValidation } from '@app/http';

/** A one-call job: the job fields plus the call. */
@CompiledValidation()
export class CreateAndCallDto extends IntersectionType(LlmCallDto, CreateJobDto) {
  /** Synonym of metadata. */
  @IsOptional()
  @IsObject()
  job_metadata?: Record<string, unknown>;
}
