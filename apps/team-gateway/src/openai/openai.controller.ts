import { Controller, Get, Headers, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import { ApiForbiddenResponse, ApiNotFoundResponse, ApiTags } from '@nestjs/swagger';
import { AnyRequest, AnyResponse, rawRequest, sendJson, takeResponse } from '@app/http';
import { CurrentTeam, TeamAuth, TeamPrincipal } from '@app/auth';
import { ChatCompletionRequestDto } from './dto/chat-completion-request.dto';
import { OpenAiBody } from './openai-body';
import { OpenAiService } from './openai.service';
import { CallRouteDocs } from '../calls/call-route.docs';

/** `baseURL = http://host:8003/v1` for the openai SDK, Open WebUI and Continue.dev. */
@ApiTags('OpenAI-compatible')
@TeamAuth()
@Controller()
export class OpenAiController {
  constructor(private readonly openai: OpenAiService) {}

  /** OpenAI chat completions (also at /chat/completions); `stream: true` answers with SSE. */
  @Post(['v1/chat/completions', 'chat/completions'])
  @HttpCode(200)
  @CallRouteDocs({
    body: ChatCompletionRequestDto,
    ok: {
      description:
        'A chat.completion object, or SSE chat.completion.chunk events then `data: [DONE]`',
    },
  })
  async chatCompletions(
    @CurrentTeam() principal: TeamPrincipal,
    @Headers('x-job-id') jobId: string | undefined,
    @OpenAiBody() body: ChatCompletionRequestDto,
    @Req() req: AnyRequest,
    @Res() reply: AnyResponse,
  ): Promise<void> {
    const res = takeResponse(reply); // written here: SSE or JSON
    if (body.stream === true)
      return this.openai.stream(principal, jobId, body, rawRequest(req), res);
    const answer = await this.openai.complete(principal, jobId, body, (id) =>
      res.setHeader('X-Job-Id', id),
    );
    sendJson(res, 200, answer.completion);
  }

  /** Every value this key may send as `model`: model names and model-group names. */
  @Get(['v1/models', 'models'])
  listModels(@CurrentTeam() principal: TeamPrincipal) {
    return this.openai.listModels(principal);
  }

  /** One model or group name this key may use. */
  @Get(['v1/models/:model', 'models/:model'])
  @ApiNotFoundResponse({ description: 'Unknown model (code model_not_found)' })
  @ApiForbiddenResponse({ description: 'The model exists but this key may not use it' })
  getModel(@CurrentTeam() principal: TeamPrincipal, @Param('model') model: string) {
    return this.openai.getModel(principal, model);
  }
}
