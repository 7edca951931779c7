// A real OpenID Provider (npm oidc-provider) for tests/e2e/test_oidc_login.py.
// Usage: node provider.mjs <port> <redirect_uri> <client_id> <client_secret>
// Listens on 127.0.0.1 only. Any login name from ACCOUNTS signs in (devInteractions form; the
// password is not checked); consent is granted without a prompt.
import Provider from 'oidc-provider';

const [port, redirectUri, clientId, clientSecret] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

const ACCOUNTS = {
  alice: { name: 'Alice Responder', email: 'alice@example.com', groups: ['sitrep-responders'] },
  victor: { name: 'Victor Viewer', email: 'victor@example.com', groups: ['staff'] },
};

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  pkce: { required: () => true },
  // Put the profile claims into the ID token (sitrep reads the person from it).
  conformIdTokenClaims: false,
  claims: {
    openid: ['sub'],
    profile: ['name', 'groups'],
    email: ['email', 'email_verified'],
  },
  cookies: { keys: ['sitrep-e2e-only'] },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    const who = ACCOUNTS[id];
    if (!who) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, email_verified: true, ...who };
      },
    };
  },
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid profile email');
    await grant.save();
    return grant;
  },
});

provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`oidc-provider ready at ${issuer}`);
});
