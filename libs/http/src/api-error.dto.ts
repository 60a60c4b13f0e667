import { ApiProperty } from '@nestjs/swagger';
import { ERROR_STATUS } from './errors';

/** The body of every error under `/api` (documented once; each 4xx/5xx response refers to it). */
export class ApiErrorDto {
  /** What was wrong, naming the field or parameter when the request was at fault. */
  @ApiProperty({ example: 'budget_mode: must be one of the following values: job_based' })
  detail!: string;

  /** Stable machine code. */
  @ApiProperty({ enum: Object.keys(ERROR_STATUS), example: 'VALIDATION_ERROR' })
  code!: string;
}
