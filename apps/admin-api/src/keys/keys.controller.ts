import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBadRequestResponse, ApiNotFoundResponse, ApiTags } from '@nestjs/swagger';
import { AdminAuth } from '@app/auth';
import { UuidParam } from '@app/http';
import { CreateKeyDto } from './dto/create-key.dto';
import { KeysService } from './keys.service';

@ApiTags('keys')
@AdminAuth()
@Controller('api')
export class KeysController {
  constructor(private readonly keys: KeysService) {}

  /** Create a virtual key for a team; `virtual_key` is in this response only. */
  @Post('teams/:team_id/keys')
  @ApiBadRequestResponse({ description: 'Invalid body, or models outside the team' })
  @ApiNotFoundResponse()
  create(@Param('team_id') teamId: string, @Body() dto: CreateKeyDto) {
    return this.keys.create(teamId, dto);
  }

  /** A team's keys, masked. */
  @Get('teams/:team_id/keys')
  @ApiNotFoundResponse()
  list(@Param('team_id') teamId: string) {
    return this.keys.listForTeam(teamId);
  }

  /** Revoke a key: refused by every gateway replica within 1 s. */
  @Delete('keys/:key_id')
  @HttpCode(200)
  @ApiNotFoundResponse()
  revoke(@Param('key_id', UuidParam('key_id')) keyId: string) {
    return this.keys.revoke(keyId);
  }
}
