import { IsObject } from 'class-validator';
import { CompiledValidation } from '@app/http';

@CompiledValidation()
export class UpdateJobMetadataDto {
  /** Merged into the job's metadata (top-level keys replaced). */
  @IsObject()
  metadata!: Record<string, unknown>;
}
