import { DomainError } from './errors.ts';

/** What a verified identity token says about its holder. */
export interface VerifiedIdentity {
  /** The ticket site's user id (`sub`), as text. */
  subject: string;
}

/** Checks an identity token from the ticket site's login; throws IDENTITY_INVALID or IDENTITY_UNAVAILABLE. */
export interface IdentityVerifier {
  verify(token: string): Promise<VerifiedIdentity>;
}

/**
 * Who may act for a user id in the waiting room. `none`: whoever names it (the seed and the demo);
 * `jwt`: only the holder of an identity token whose subject is that user.
 */
export interface IdentityGate {
  readonly mode: 'none' | 'jwt';
  proveUser(userId: number, token: string | undefined): Promise<void>;
}

export const anyoneMayNameAnyUser: IdentityGate = { mode: 'none', proveUser: async () => {} };

export function verifiedIdentityGate(verifier: IdentityVerifier): IdentityGate {
  return {
    mode: 'jwt',
    async proveUser(userId, token) {
      if (token === undefined || token === '')
        throw new DomainError(
          'IDENTITY_REQUIRED',
          'An identity token is required: Authorization: Bearer <JWT>',
        );
      const { subject } = await verifier.verify(token);
      if (subject !== String(userId))
        throw new DomainError('IDENTITY_NOT_THIS_USER', `The identity token is not for user ${userId}`);
    },
  };
}
