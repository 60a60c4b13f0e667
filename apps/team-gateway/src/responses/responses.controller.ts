import { Controller, Get, Headers, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import { ApiNotFoundResponse, ApiTags } from '@nestjs/swagger';
import { AnyRequest, AnyResponse, rawRequest, sendJson, takeResponse } from '@app/http';
import { CurrentTeam, TeamAuth, TeamPrincipal } from '@app/auth';
import { CreateResponseDto } from './dto/create-response.dto';
import { ResponsesBody, ResponsesRequestBody } from './responses-body';
import { ResponsesService } from './responses.service';
import { CallRouteDocs } from '../calls/call-route.docs';

/** OpenAI's Responses API, for the openai SDK's `responses` and Codex CLI (`wire_api = "responses"`). */
@ApiTags('OpenAI-compatible')
@TeamAuth()
@Controller()
export class ResponsesController {
  constructor(private readonly responses: ResponsesService) {}

  /** Creates a model response (stateless); `stream: true` answers with the Responses API's SSE events. */
  @Post('v1/responses')
  @HttpCode(200)
  @CallRouteDocs({
    body: CreateResponseDto,
    oneCallJobType: 'responses',
    ok: {
      description:
        'A Response object (`object: "response"`, `store: false`), or SSE events (response.created … response.completed)',
    },
    badRequest:
      'Malformed body, previous_response_id / conversation / background (nothing is stored), or what a non-OpenAI deployment cannot take (`param` names it)',
  })
  async create(
    @CurrentTeam() principal: TeamPrincipal,
    @Headers('x-job-id') jobId: string | undefined,
    @ResponsesRequestBody() body: ResponsesBody,
    @Req() req: AnyRequest,
    @Res() reply: AnyResponse,
  ): Promise<void> {
    const res = takeResponse(reply); // written here: SSE or JSON
    if (body.req.stream === true)
      return this.responses.stream(principal, jobId, body, rawRequest(req), res);
    const answer = await this.responses.create(principal, jobId, body, (id) =>
      res.setHeader('X-Job-Id', id),
    );
    sendJson(res, 200, answer);
  }

  /** Always 404: the gateway stores no responses (every response is `store: false`). */
  @Get('v1/responses/:response_id')
  @ApiNotFoundResponse({ description: 'Responses are not stored by this gateway' })
  retrieve(@Param('response_id') id: string): never {
    return this.responses.retrieve(id);
  }
}
