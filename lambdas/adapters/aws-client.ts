/**
 * Options every AWS SDK client of reshard is built with: connect and request timeouts, so a call without a
 * route (a VPC with neither endpoints nor NAT) or to an unresponsive endpoint fails in seconds with a
 * TimeoutError (which the SDK retries, then `sdkReadError` turns into a TransientError) instead of hanging
 * until the Lambda times out.
 */

export interface AwsClientTimeouts {
  /** TCP connect, per attempt (ms). */
  readonly connectionTimeoutMs: number;
  /** From sending the request to the response headers, per attempt; also the longest idle gap on the socket (ms). */
  readonly requestTimeoutMs: number;
}

/** SQS long polling waits up to 20 s for the response: the request timeout stays above that. */
export const SQS_MAX_WAIT_SECONDS = 20;

/** Connect in 5 s (a VPC endpoint or NAT answers in milliseconds); a response within 30 s. */
export const AWS_CLIENT_TIMEOUTS: AwsClientTimeouts = { connectionTimeoutMs: 5_000, requestTimeoutMs: 30_000 };

/**
 * The SDK client options carrying those timeouts: `requestHandler` given as the Node HTTP handler's
 * options. `throwOnRequestTimeout` makes the request timeout an error (without it the SDK only logs).
 */
export function awsClientOptions(t: AwsClientTimeouts = AWS_CLIENT_TIMEOUTS) {
  return {
    requestHandler: {
      connectionTimeout: t.connectionTimeoutMs,
      requestTimeout: t.requestTimeoutMs,
      throwOnRequestTimeout: true,
      socketTimeout: t.requestTimeoutMs,
    },
  };
}
