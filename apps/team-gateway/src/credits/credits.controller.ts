import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { CurrentTeam, TeamAuth, TeamPrincipal } from '@app/auth';
import { PageQueryDto } from '@app/http';
import { BalanceQueryDto } from './dto/balance.query';
import { CreditsService } from './credits.service';

@ApiTags('credits')
@TeamAuth()
@Controller('api/credits')
export class CreditsController {
  constructor(private readonly credits: CreditsService) {}

  /** The caller's team balance (`team_id` optional; another team is a 403). */
  @Get('balance')
  balance(@CurrentTeam() principal: TeamPrincipal, @Query() query: BalanceQueryDto) {
    return this.credits.balance(principal, query.team_id ?? principal.teamId);
  }

  /** The caller's team balance. */
  @Get('teams/:team_id/balance')
  teamBalance(@CurrentTeam() principal: TeamPrincipal, @Param('team_id') teamId: string) {
    return this.credits.balance(principal, teamId);
  }

  /** The caller's team ledger, newest first. */
  @Get('teams/:team_id/transactions')
  transactions(
    @CurrentTeam() principal: TeamPrincipal,
    @Param('team_id') teamId: string,
    @Query() query: PageQueryDto,
  ) {
    return this.credits.transactions(principal, teamId, query.limit ?? 50, query.cursor);
  }
}
