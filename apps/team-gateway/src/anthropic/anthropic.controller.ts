import { Controller, Headers, HttpCode, Post, Req, Res, UseFilters } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiForbiddenResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import { AnyRequest, AnyResponse, rawRequest, sendJson, takeResponse } from '@app/http';
import { AcceptsApiKeyHeader, CurrentTeam, TeamAuth, TeamPrincipal } from '@app/auth';
import { AnthropicExceptionFilter } from './anthropic-error';
import { AnthropicService } from './anthropic.service';
import { CountTokensRequestDto, MessagesRequestDto } from './dto/messages-request.dto';
import { CountTokensResponseDto, MessageResponseDto } from './dto/messages-response.dto';
import { CountTokensBody, MessagesBody } from './messages-body';
import { CallRouteDocs } from '../calls/call-route.docs';

/**
 * Anthropic's Messages API (`ANTHROPIC_BASE_URL=http://host:8003` for Claude Code and the
 * Anthropic SDKs). The virtual key is taken as `x-api-key` or `Authorization: Bearer`; errors
 * answer in Anthropic's shape. `anthropic-version` is accepted and ignored; `anthropic-beta` is
 * passed on to Anthropic deployments with the body.
 */
@ApiTags('Anthropic-compatible')
@TeamAuth()
@AcceptsApiKeyHeader()
@UseFilters(AnthropicExceptionFilter)
@ApiHeader({ name: 'anthropic-version', required: false, description: 'Accepted, ignored' })
@ApiHeader({
  name: 'anthropic-beta',
  required: false,
  description: 'Passed on to Anthropic deployments',
})
@ApiBadRequestResponse({ description: 'Malformed body (invalid_request_error)' })
@ApiForbiddenResponse({
  description: 'Model not allowed, insufficient credits, key budget (permission_error)',
})
@ApiNotFoundResponse({ description: 'Unknown model (not_found_error)' })
@Controller('v1/messages')
export class AnthropicController {
  constructor(private readonly messages: AnthropicService) {}

  /** Create a message; `stream: true` answers with Anthropic's Server-Sent Events. */
  @Post()
  @HttpCode(200)
  @CallRouteDocs({
    body: MessagesRequestDto,
    ok: {
      type: MessageResponseDto,
      description:
        'A Message, or SSE: message_start, content_block_start/delta/stop, message_delta, message_stop',
    },
    // on the controller: count_tokens answers them too
    badRequest: false,
    forbidden: false,
    notFound: false,
    errorTypes: { rateLimit: 'rate_limit_error', upstream: 'api_error' },
  })
  async create(
    @CurrentTeam() principal: TeamPrincipal,
    @Headers('x-job-id') jobId: string | undefined,
    @Headers('anthropic-beta') beta: string | undefined,
    @MessagesBody() body: MessagesRequestDto,
    @Req() req: AnyRequest,
    @Res() reply: AnyResponse,
  ): Promise<void> {
    const res = takeResponse(reply); // written here: SSE or JSON
    if (body.stream === true)
      return this.messages.stream(principal, jobId, body, beta, rawRequest(req), res);
    const message = await this.messages.create(principal, jobId, body, beta, (id) =>
      res.setHeader('X-Job-Id', id),
    );
    sendJson(res, 200, message);
  }

  /** Count a prompt's input tokens (not billed): Anthropic's count, or the gateway's estimate. */
  @Post('count_tokens')
  @HttpCode(200)
  @ApiBody({ type: CountTokensRequestDto })
  @ApiOkResponse({ type: CountTokensResponseDto })
  countTokens(
    @CurrentTeam() principal: TeamPrincipal,
    @CountTokensBody() body: CountTokensRequestDto,
  ): Promise<CountTokensResponseDto> {
    return this.messages.countTokens(principal, body);
  }
}
