import { createParamDecorator, ExecutionContext, Injectable, PipeTransform } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import type { Request } from 'express';
import { compiledValidator, TollgateError } from '@app/http';
import { failuresOf } from '../openai/openai-body';
import { CountTokensRequestDto, MessagesRequestDto } from './dto/messages-request.dto';

type Dto = typeof MessagesRequestDto | typeof CountTokensRequestDto;

/**
 * Checks a Messages (or count_tokens) body against its DTO and hands on the body itself, not a
 * copy: fields the gateway does not define stay in it, for Anthropic deployments (pass-through).
 */
@Injectable()
export class MessagesBodyPipe<
  T extends MessagesRequestDto | CountTokensRequestDto,
> implements PipeTransform<unknown, Promise<T>> {
  /** The DTO's schema compiled once; a body it accepts skips class-validator. */
  private readonly fast;

  constructor(private readonly dto: Dto) {
    this.fast = compiledValidator<MessagesRequestDto | CountTokensRequestDto>(dto, 'open');
  }

  async transform(value: unknown): Promise<T> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new TollgateError('VALIDATION_ERROR', 'The request body must be a JSON object');
    }
    if (this.fast?.check(value)) return value as T;
    const checked = plainToInstance(this.dto, value, { enableImplicitConversion: false });
    const errors = await validate(checked, { whitelist: false, forbidUnknownValues: false });
    const failures = failuresOf(errors);
    if (failures.length > 0) {
      const message = failures.map((f) => `${f.param}: ${f.message}`).join('; ');
      throw new TollgateError('VALIDATION_ERROR', message);
    }
    return value as T;
  }
}

const RawBody = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): unknown => ctx.switchToHttp().getRequest<Request>().body,
);

/** The Messages body (a custom parameter: the app's strict ValidationPipe would drop extras). */
export const MessagesBody = () => RawBody(new MessagesBodyPipe(MessagesRequestDto));

export const CountTokensBody = () => RawBody(new MessagesBodyPipe(CountTokensRequestDto));
