import { Controller, Headers, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { AnyRequest, AnyResponse, rawRequest, sendJson, takeResponse } from '@app/http';
import { CurrentTeam, TeamAuth, TeamPrincipal } from '@app/auth';
import { CompletionsService } from './completions.service';
import { CompletionRequestDto } from './dto/completion-request.dto';
import { OpenAiBody } from './openai-body';
import { CallRouteDocs } from '../calls/call-route.docs';

@ApiTags('OpenAI-compatible')
@TeamAuth()
@Controller()
export class CompletionsController {
  constructor(private readonly completions: CompletionsService) {}

  /** OpenAI legacy text completions, for openai, openai-compatible and mock deployments. */
  @Post('v1/completions')
  @HttpCode(200)
  @CallRouteDocs({
    body: CompletionRequestDto,
    ok: {
      description: 'A text_completion object, or SSE text_completion chunks then `data: [DONE]`',
    },
    badRequest:
      'Malformed body (`param` names the field), or a model whose provider has no legacy completions',
  })
  async create(
    @CurrentTeam() principal: TeamPrincipal,
    @Headers('x-job-id') jobId: string | undefined,
    @OpenAiBody(CompletionRequestDto) body: CompletionRequestDto,
    @Req() req: AnyRequest,
    @Res() reply: AnyResponse,
  ): Promise<void> {
    const res = takeResponse(reply); // written here: SSE or JSON
    if (body.stream === true)
      return this.completions.stream(principal, jobId, body, rawRequest(req), res);
    const completion = await this.completions.complete(principal, jobId, body, (id) =>
      res.setHeader('X-Job-Id', id),
    );
    sendJson(res, 200, completion);
  }
}
