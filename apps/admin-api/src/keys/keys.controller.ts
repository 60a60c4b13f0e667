import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiTags,
} from '@nestjs/swagger';
import { AdminAuth } from '@app/auth';
import { PageQueryDto, UuidParam } from '@app/http';
import { CreateKeyDto } from './dto/create-key.dto';
import { RotateKeyDto } from './dto/rotate-key.dto';
import { UpdateKeyDto } from './dto/update-key.dto';
import { KeysService } from './keys.service';

@ApiTags('keys')
@AdminAuth()
@Controller('api')
export class KeysController {
  constructor(private readonly keys: KeysService) {}

  /** Create a virtual key for a team; `virtual_key` is in this response only. */
  @Post('teams/:team_id/keys')
  @ApiBadRequestResponse({ description: 'Invalid body, or models outside the team' })
  @ApiNotFoundResponse({ description: 'Team not found' })
  @ApiConflictResponse({ description: 'Team suspended, paused or deleted' })
  create(@Param('team_id') teamId: string, @Body() dto: CreateKeyDto) {
    return this.keys.create(teamId, dto);
  }

  /** A team's keys, newest first, masked. */
  @Get('teams/:team_id/keys')
  @ApiBadRequestResponse({ description: 'Invalid limit or cursor' })
  @ApiNotFoundResponse({ description: 'Team not found' })
  list(@Param('team_id') teamId: string, @Query() query: PageQueryDto) {
    return this.keys.listForTeam(teamId, query.limit, query.cursor);
  }

  /** One key: limits, budget window, spend and last use (like LiteLLM /key/info). */
  @Get('keys/:key_id')
  @ApiBadRequestResponse({ description: 'key_id is not a UUID' })
  @ApiNotFoundResponse({ description: 'Key not found' })
  info(@Param('key_id', UuidParam('key_id')) keyId: string) {
    return this.keys.info(keyId);
  }

  /** Change a key's alias, models, budget, limits, expiry or metadata; gateways see it within 1 s. */
  @Patch('keys/:key_id')
  @ApiBadRequestResponse({ description: 'Invalid body, or models outside the team' })
  @ApiNotFoundResponse({ description: 'Key not found' })
  @ApiConflictResponse({ description: 'Key revoked' })
  update(@Param('key_id', UuidParam('key_id')) keyId: string, @Body() dto: UpdateKeyDto) {
    return this.keys.update(keyId, dto);
  }

  /** Issue a replacement key (returned once); the old one works for grace_period, then is revoked. */
  @Post('keys/:key_id/rotate')
  @HttpCode(200)
  @ApiBadRequestResponse({ description: 'Invalid grace_period or duration' })
  @ApiNotFoundResponse({ description: 'Key not found' })
  @ApiConflictResponse({ description: 'Key revoked, expired or already rotated; team deleted' })
  rotate(@Param('key_id', UuidParam('key_id')) keyId: string, @Body() dto: RotateKeyDto) {
    return this.keys.rotate(keyId, dto);
  }

  /** Revoke a key: refused by every gateway replica within 1 s. */
  @Delete('keys/:key_id')
  @HttpCode(200)
  @ApiNotFoundResponse({ description: 'Key not found' })
  revoke(@Param('key_id', UuidParam('key_id')) keyId: string) {
    return this.keys.revoke(keyId);
  }
}
