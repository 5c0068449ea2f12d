import {
  CanActivate,
  Catch,
  ExceptionFilter,
  UseFilters,
  UseGuards,
  UsePipes,
} from '@nestjs/common';
import { ConnectedSocket, MessageBody, SubscribeMessage } from '@nestjs/websockets';
import { createValidationPipe } from '@app/common/validation/validation.pipe';
import { FrameRoutes } from './frame-routes';
import { PingFrameDto } from './realtime.dto';

@Catch()
class AnyFilter implements ExceptionFilter {
  catch(): void {}
}

class AllowAll implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

describe(FrameRoutes.name, () => {
  it('routes each @SubscribeMessage() handler of a gateway with one pipe and one filter', () => {
    @UsePipes(createValidationPipe())
    @UseFilters(AnyFilter)
    class Gateway {
      @SubscribeMessage('ping')
      ping(@MessageBody() _frame: PingFrameDto, @ConnectedSocket() _connection: unknown) {
        return { event: 'pong', data: {} };
      }

      @SubscribeMessage('leave')
      leave(@MessageBody() _frame: PingFrameDto) {
        return undefined;
      }

      notAHandler() {
        return undefined;
      }
    }

    expect(new FrameRoutes(new Gateway()).events.sort()).toEqual(['leave', 'ping']);
  });

  it('refuses at start-up a gateway whose frames would need what it does not run', () => {
    @UsePipes(createValidationPipe())
    @UseFilters(AnyFilter)
    @UseGuards(AllowAll)
    class GuardedGateway {
      @SubscribeMessage('ping')
      ping(@MessageBody() _frame: PingFrameDto) {
        return undefined;
      }
    }
    @UsePipes(createValidationPipe())
    @UseFilters(AnyFilter)
    class GatewayWithAPropertyOfTheFrame {
      @SubscribeMessage('ping')
      ping(@MessageBody('roomId') _roomId: string) {
        return undefined;
      }
    }
    @UseFilters(AnyFilter)
    class GatewayWithoutPipe {
      @SubscribeMessage('ping')
      ping(@MessageBody() _frame: PingFrameDto) {
        return undefined;
      }
    }

    expect(() => new FrameRoutes(new GuardedGateway())).toThrow(/__guards__/);
    expect(() => new FrameRoutes(new GatewayWithAPropertyOfTheFrame())).toThrow(
      /takes \(@MessageBody\(\) frame, @ConnectedSocket\(\) connection\)/,
    );
    expect(() => new FrameRoutes(new GatewayWithoutPipe())).toThrow(/exactly one pipe, has 0/);
  });
});
