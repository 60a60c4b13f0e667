import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  Param,
  Patch,
  Post,
  Query,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { AdminAuth } from '@app/auth';
import { PageQueryDto } from '@app/http';
import { AddCreditsDto } from './dto/add-credits.dto';
import { ConfigureAutoRefillDto } from './dto/auto-refill.dto';
import { UpdateBudgetModeDto } from './dto/budget-mode.dto';
import { CreditsService } from './credits.service';

@ApiTags('credits')
@AdminAuth()
@Controller('api/credits/teams/:team_id')
export class CreditsController {
  constructor(private readonly credits: CreditsService) {}

  /** Add credits: one ledger row, returned with the new balance. */
  @Post('add')
  @HttpCode(200)
  // Same name as the @Headers parameter, so Swagger merges the two into one optional header.
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'Same key + same body replays the first result; another body → 422',
  })
  @ApiBadRequestResponse({ description: 'Invalid body' })
  @ApiNotFoundResponse({ description: 'Team not found' })
  @ApiConflictResponse({
    description: 'Team deleted, or a request with this Idempotency-Key is still in progress',
  })
  @ApiUnprocessableEntityResponse({ description: 'Idempotency-Key reused with another body' })
  add(
    @Param('team_id') teamId: string,
    @Body() dto: AddCreditsDto,
    @Headers('Idempotency-Key') idempotencyKey?: string,
  ) {
    return this.credits.add(teamId, dto, idempotencyKey);
  }

  /** allocated, used, held and remaining credits, with the budget mode and rates. */
  @Get('balance')
  @ApiNotFoundResponse()
  balance(@Param('team_id') teamId: string) {
    return this.credits.balance(teamId);
  }

  /** The team's ledger, newest first. */
  @Get('transactions')
  @ApiNotFoundResponse()
  transactions(@Param('team_id') teamId: string, @Query() query: PageQueryDto) {
    return this.credits.transactions(teamId, query.limit, query.cursor);
  }

  /** Switch how usage turns into credits (and the conversion rates). */
  @Patch('budget-mode')
  @ApiBadRequestResponse({ description: 'Invalid body' })
  @ApiNotFoundResponse()
  @ApiConflictResponse({ description: 'Team deleted' })
  budgetMode(@Param('team_id') teamId: string, @Body() dto: UpdateBudgetModeDto) {
    return this.credits.setBudgetMode(teamId, dto);
  }

  /** Top the team up by refill_amount once per refill_period (first refill one period from now). */
  @Post('configure-auto-refill')
  @HttpCode(200)
  @ApiBadRequestResponse({ description: 'Invalid body (amount and period required when enabled)' })
  @ApiNotFoundResponse()
  @ApiConflictResponse({ description: 'Team deleted' })
  configureAutoRefill(@Param('team_id') teamId: string, @Body() dto: ConfigureAutoRefillDto) {
    return this.credits.configureAutoRefill(teamId, dto);
  }
}
