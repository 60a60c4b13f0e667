import { Body, Controller, Get, HttpCode, Param, Patch, Post, Req, Res } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiForbiddenResponse,
  ApiGatewayTimeoutResponse,
  ApiNotFoundResponse,
  ApiBadGatewayResponse,
  ApiOkResponse,
  ApiProduces,
  ApiTags,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import { CurrentTeam, TeamAuth, TeamPrincipal } from '@app/auth';
import { AnyRequest, AnyResponse, rawRequest, takeResponse, UuidParam } from '@app/http';
import { LlmCallDto } from '../calls/dto/llm-call.dto';
import { CompleteJobDto } from './dto/complete-job.dto';
import { CreateAndCallDto } from './dto/create-and-call.dto';
import { CreateJobDto } from './dto/create-job.dto';
import { UpdateJobMetadataDto } from './dto/update-job-metadata.dto';
import { JobsService } from './jobs.service';

@ApiTags('jobs')
@TeamAuth()
@Controller('api/jobs')
export class JobsController {
  constructor(private readonly jobs: JobsService) {}

  /** Open a job (one business operation); it stays pending until its first call. */
  @Post('create')
  create(@CurrentTeam() principal: TeamPrincipal, @Body() dto: CreateJobDto) {
    return this.jobs.create(principal, dto);
  }

  /** Create a job, make one LLM call and close the job (completed, or failed if the call fails). */
  @Post('create-and-call')
  @HttpCode(200)
  @ApiForbiddenResponse({ description: 'Model not allowed, insufficient credits or key budget' })
  @ApiTooManyRequestsResponse({ description: 'Rate limited (Retry-After)' })
  @ApiBadGatewayResponse({ description: 'Every upstream attempt failed' })
  @ApiGatewayTimeoutResponse({ description: 'Upstream timed out' })
  createAndCall(@CurrentTeam() principal: TeamPrincipal, @Body() dto: CreateAndCallDto) {
    return this.jobs.createAndCall(principal, dto);
  }

  /** create-and-call as a stream (SSE); the job closes when the stream ends. */
  @Post('create-and-call-stream')
  @HttpCode(200)
  @ApiProduces('text/event-stream')
  @ApiOkResponse({ description: 'SSE: chat.completion.chunk events, then `data: [DONE]`' })
  @ApiForbiddenResponse({ description: 'Model not allowed, insufficient credits or key budget' })
  @ApiTooManyRequestsResponse({ description: 'Rate limited (Retry-After)' })
  @ApiBadGatewayResponse({ description: 'Every upstream attempt failed before the first byte' })
  @ApiGatewayTimeoutResponse({ description: 'Upstream timed out before the first byte' })
  async createAndCallStream(
    @CurrentTeam() principal: TeamPrincipal,
    @Body() dto: CreateAndCallDto,
    @Req() req: AnyRequest,
    @Res() res: AnyResponse,
  ): Promise<void> {
    await this.jobs.createAndCallStream(principal, dto, rawRequest(req), takeResponse(res));
  }

  /** A job of the caller's team. */
  @Get(':job_id')
  @ApiNotFoundResponse({ description: 'No such job' })
  get(
    @CurrentTeam() principal: TeamPrincipal,
    @Param('job_id', UuidParam('job_id')) jobId: string,
  ) {
    return this.jobs.get(principal, jobId);
  }

  /** Merge keys into the job's metadata. */
  @Patch(':job_id/metadata')
  updateMetadata(
    @CurrentTeam() principal: TeamPrincipal,
    @Param('job_id', UuidParam('job_id')) jobId: string,
    @Body() dto: UpdateJobMetadataDto,
  ) {
    return this.jobs.updateMetadata(principal, jobId, dto.metadata);
  }

  /** Make an LLM call inside the job (held before, settled after the upstream request). */
  @Post(':job_id/llm-call')
  @HttpCode(200)
  @ApiForbiddenResponse({ description: 'Model not allowed, insufficient credits or key budget' })
  @ApiNotFoundResponse({ description: 'No such job or model' })
  @ApiConflictResponse({ description: 'The job is already completed or failed' })
  @ApiTooManyRequestsResponse({ description: 'Rate limited (Retry-After)' })
  @ApiBadGatewayResponse({ description: 'Every upstream attempt failed' })
  @ApiGatewayTimeoutResponse({ description: 'Upstream timed out' })
  llmCall(
    @CurrentTeam() principal: TeamPrincipal,
    @Param('job_id', UuidParam('job_id')) jobId: string,
    @Body() dto: LlmCallDto,
  ) {
    return this.jobs.llmCall(principal, jobId, dto);
  }

  /** An LLM call inside the job, streamed as SSE (OpenAI chunks, then `data: [DONE]`). */
  @Post(':job_id/llm-call-stream')
  @HttpCode(200)
  @ApiProduces('text/event-stream')
  @ApiOkResponse({ description: 'SSE: chat.completion.chunk events, then `data: [DONE]`' })
  @ApiForbiddenResponse({ description: 'Model not allowed, insufficient credits or key budget' })
  @ApiNotFoundResponse({ description: 'No such job or model' })
  @ApiConflictResponse({ description: 'The job is already completed or failed' })
  @ApiTooManyRequestsResponse({ description: 'Rate limited (Retry-After)' })
  @ApiBadGatewayResponse({ description: 'Every upstream attempt failed before the first byte' })
  @ApiGatewayTimeoutResponse({ description: 'Upstream timed out before the first byte' })
  async llmCallStream(
    @CurrentTeam() principal: TeamPrincipal,
    @Param('job_id', UuidParam('job_id')) jobId: string,
    @Body() dto: LlmCallDto,
    @Req() req: AnyRequest,
    @Res() res: AnyResponse,
  ): Promise<void> {
    await this.jobs.llmCallStream(principal, jobId, dto, rawRequest(req), takeResponse(res));
  }

  /** Close the job and charge it; a repeat returns the same result and charges nothing. */
  @Post(':job_id/complete')
  @HttpCode(200)
  complete(
    @CurrentTeam() principal: TeamPrincipal,
    @Param('job_id', UuidParam('job_id')) jobId: string,
    @Body() dto: CompleteJobDto,
  ) {
    return this.jobs.complete(principal, jobId, dto);
  }

  /** The job's calls and costs (client cost, with markup). */
  @Get(':job_id/costs')
  costs(
    @CurrentTeam() principal: TeamPrincipal,
    @Param('job_id', UuidParam('job_id')) jobId: string,
  ) {
    return this.jobs.costs(principal, jobId);
  }
}
