import { createParamDecorator, ExecutionContext, Injectable, PipeTransform } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import type { Request } from 'express';
import { compiledValidator } from '@app/http';
import { failuresOf } from '../openai/openai-body';
import { InvalidParamError } from '../openai/openai-error';
import { CreateResponseDto } from './dto/create-response.dto';

/** The checked request and the body exactly as the client sent it (for pass-through). */
export interface ResponsesBody {
  req: CreateResponseDto;
  raw: Record<string, unknown>;
}

/**
 * Validates a Responses body against CreateResponseDto and reports failures as OpenAI does (400
 * with the `param` at fault); unknown fields are not refused: they stay in `raw`.
 */
@Injectable()
export class ResponsesBodyPipe implements PipeTransform<unknown, Promise<ResponsesBody>> {
  /** The DTO's schema compiled once; a body it accepts skips class-validator. */
  private readonly fast = compiledValidator(CreateResponseDto, 'strip');

  async transform(value: unknown): Promise<ResponsesBody> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new InvalidParamError('The request body must be a JSON object', null);
    }
    const checked = this.fast?.check(value);
    if (checked) return { req: checked, raw: value as Record<string, unknown> };
    const req = plainToInstance(CreateResponseDto, value, { enableImplicitConversion: false });
    const errors = await validate(req, { whitelist: true, forbidNonWhitelisted: false });
    const failures = failuresOf(errors);
    if (failures.length > 0) {
      const message = failures.map((f) => `${f.param}: ${f.message}`).join('; ');
      throw new InvalidParamError(message, failures[0].param);
    }
    return { req, raw: value as Record<string, unknown> };
  }
}

const RawBody = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): unknown => ctx.switchToHttp().getRequest<Request>().body,
);

/** The Responses body: a custom parameter, so the app's strict global ValidationPipe leaves it alone. */
export const ResponsesRequestBody = () => RawBody(ResponsesBodyPipe);
