// Pointing discord.js at another gateway (an emulator, a proxy). discord.js takes the gateway URL from
// GET /gateway/bot; a `ws.buildStrategy` hook wraps the manager's lookup so the answer's `url` is replaced.
import { SimpleShardingStrategy, type ClientOptions } from 'discord.js';

type BuildStrategy = NonNullable<NonNullable<ClientOptions['ws']>['buildStrategy']>;

export function gatewayOverride(gatewayUrl: string): BuildStrategy {
  const url = gatewayUrl.replace(/\/+$/, '');
  return (manager) => {
    const lookUp = manager.fetchGatewayInformation.bind(manager);
    manager.fetchGatewayInformation = async (force?: boolean) => ({ ...(await lookUp(force)), url });
    return new SimpleShardingStrategy(manager);
  };
}
