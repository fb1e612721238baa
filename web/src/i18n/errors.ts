import type { ErrorCode } from '../../../src/domain/errors.ts';

/**
 * Every code the API can answer, plus what the page itself meets (no network, an unknown code).
 * Codes of routes not on this server yet (identity, operator keys, seat maps) are listed too, so a newer
 * server never shows a bare code.
 */
export type ClientErrorCode =
  | ErrorCode
  | 'BAD_REQUEST'
  | 'MALFORMED_JSON'
  | 'URI_TOO_LONG'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'IDENTITY_REQUIRED'
  | 'IDENTITY_INVALID'
  | 'IDENTITY_NOT_THIS_USER'
  | 'IDENTITY_UNAVAILABLE'
  | 'RATE_LIMITED'
  | 'OPERATOR_KEY_REQUIRED'
  | 'OPERATOR_KEY_INVALID'
  | 'OPERATOR_KEY_REVOKED'
  | 'SEAT_IN_USE'
  | 'SEAT_MAP_INVALID'
  | 'SEAT_MAP_NOT_EDITABLE'
  | 'SOLD_OUT'
  | 'SALE_CLOSED'
  | 'NETWORK'
  | 'UNKNOWN';

export const errorsEn: Record<ClientErrorCode, string> = {
  VALIDATION_FAILED: 'Something in the request was not valid. Check the form and try again.',
  BAD_REQUEST: 'The request was not understood. Reload the page and try again.',
  MALFORMED_JSON: 'The page sent something the server cannot read. Reload and try again.',
  URI_TOO_LONG: 'The address is too long.',
  HOLD_LIMIT_REACHED: 'You already hold as many seats as one person may. Pay for or release one first.',
  PAYLOAD_TOO_LARGE: 'What you sent is too large.',
  UNSUPPORTED_MEDIA_TYPE: 'The page sent something the server cannot read. Reload and try again.',
  NOT_FOUND: 'That could not be found.',
  CONCERT_NOT_FOUND: 'This concert does not exist.',
  SCHEDULE_NOT_FOUND: 'This date does not exist for the concert.',
  SEAT_NOT_FOUND: 'This seat does not exist.',
  USER_NOT_FOUND: 'This user does not exist. Pick another demo user.',
  SEAT_ALREADY_RESERVED: 'Sorry, someone else just took this seat. Pick another one.',
  RESERVATION_NOT_FOUND: 'This reservation could not be found.',
  RESERVATION_EXPIRED: 'Your hold on this seat ran out. Pick a seat again.',
  NOT_RESERVATION_OWNER: 'This reservation belongs to someone else.',
  RESERVATION_NOT_HELD: 'This seat is no longer held for you.',
  INSUFFICIENT_POINTS: 'You do not have enough points. Top up and pay again.',
  TOP_UP_REQUIRES_PROVIDER: 'Points are added through the payment page, not here.',
  PROVIDER_SIGNATURE_INVALID: 'The payment confirmation could not be verified.',
  PROVIDER_EVENT_MISMATCH: 'This payment confirmation does not match an earlier one.',
  ALREADY_PAID: 'This seat is already paid for.',
  IDEMPOTENCY_KEY_REUSED: 'This request was already sent with other details. Reload and try again.',
  IDEMPOTENCY_IN_PROGRESS: 'Your previous request is still being handled. Wait a moment.',
  TOKEN_MISSING: 'Your place in line was not sent. Join the line again.',
  TOKEN_INVALID: 'Your place in line is no longer valid. Join the line again.',
  TOKEN_EXPIRED: 'Your turn ended. Join the line again.',
  TOKEN_NOT_YOURS: 'This place in line belongs to another user.',
  NOT_ADMITTED: 'It is not your turn yet. Wait in the line.',
  QUEUE_FULL: 'The line is full right now. Try again in a moment.',
  BUSY: 'The server is busy. Try again in a moment.',
  OVERLOADED: 'The server is very busy. Try again in a moment.',
  DATABASE_UNAVAILABLE: 'Tickets are unavailable for a moment. Try again shortly.',
  QUEUE_UNAVAILABLE: 'The waiting room is unavailable for a moment. Your page will retry.',
  CONFLICT_RETRY_EXHAUSTED: 'Many people are booking at once. Try again.',
  INTERNAL: 'Something went wrong on our side. Try again.',
  IDENTITY_REQUIRED: 'Sign in on the ticket site first.',
  IDENTITY_INVALID: 'Your sign-in was not accepted. Sign in on the ticket site again.',
  IDENTITY_NOT_THIS_USER: 'You are signed in as another user.',
  IDENTITY_UNAVAILABLE: 'Sign-in cannot be checked right now. Try again shortly.',
  RATE_LIMITED: 'Too many attempts. Wait a moment before trying again.',
  OPERATOR_KEY_REQUIRED: 'Sign in with an operator key.',
  OPERATOR_KEY_INVALID: 'That operator key was not accepted.',
  OPERATOR_KEY_REVOKED: 'That operator key was revoked.',
  OPERATOR_KEY_NAME_TAKEN: 'An operator key with that name already exists.',
  OPERATOR_KEY_NOT_FOUND: 'No such operator key.',
  SECTION_NOT_FOUND: 'No such section in this seat map.',
  SEAT_IN_USE: 'That seat is held or sold and cannot be changed.',
  SEAT_MAP_INVALID: 'The seat map could not be read.',
  SEAT_MAP_NOT_EDITABLE: 'This seat map can no longer be edited.',
  SOLD_OUT: 'Sold out.',
  SALE_CLOSED: 'This sale is closed.',
  NETWORK: 'The server could not be reached. Check your connection.',
  UNKNOWN: 'Something went wrong. Try again.',
};

export const errorsKo: Record<ClientErrorCode, string> = {
  VALIDATION_FAILED: '요청 내용이 올바르지 않습니다. 입력을 확인하고 다시 시도하세요.',
  BAD_REQUEST: '요청을 이해하지 못했습니다. 페이지를 새로고침하고 다시 시도하세요.',
  MALFORMED_JSON: '서버가 읽을 수 없는 형식입니다. 새로고침하고 다시 시도하세요.',
  URI_TOO_LONG: '주소가 너무 깁니다.',
  HOLD_LIMIT_REACHED: '한 사람이 잡을 수 있는 좌석 수를 모두 채웠습니다. 먼저 결제하거나 하나를 놓아주세요.',
  PAYLOAD_TOO_LARGE: '보낸 내용이 너무 큽니다.',
  UNSUPPORTED_MEDIA_TYPE: '서버가 읽을 수 없는 형식입니다. 새로고침하고 다시 시도하세요.',
  NOT_FOUND: '찾을 수 없습니다.',
  CONCERT_NOT_FOUND: '없는 공연입니다.',
  SCHEDULE_NOT_FOUND: '이 공연에 없는 날짜입니다.',
  SEAT_NOT_FOUND: '없는 좌석입니다.',
  USER_NOT_FOUND: '없는 사용자입니다. 다른 데모 사용자를 고르세요.',
  SEAT_ALREADY_RESERVED: '죄송합니다. 방금 다른 분이 이 좌석을 잡았습니다. 다른 좌석을 고르세요.',
  RESERVATION_NOT_FOUND: '예약을 찾을 수 없습니다.',
  RESERVATION_EXPIRED: '좌석 선점 시간이 끝났습니다. 좌석을 다시 고르세요.',
  NOT_RESERVATION_OWNER: '다른 사람의 예약입니다.',
  RESERVATION_NOT_HELD: '이 좌석은 더 이상 선점 상태가 아닙니다.',
  INSUFFICIENT_POINTS: '포인트가 부족합니다. 충전한 뒤 다시 결제하세요.',
  TOP_UP_REQUIRES_PROVIDER: '포인트는 이곳이 아니라 결제 페이지에서 충전됩니다.',
  PROVIDER_SIGNATURE_INVALID: '결제 확인을 검증할 수 없습니다.',
  PROVIDER_EVENT_MISMATCH: '이 결제 확인이 이전 확인과 일치하지 않습니다.',
  ALREADY_PAID: '이미 결제한 좌석입니다.',
  IDEMPOTENCY_KEY_REUSED: '같은 요청이 다른 내용으로 이미 보내졌습니다. 새로고침하고 다시 시도하세요.',
  IDEMPOTENCY_IN_PROGRESS: '이전 요청을 처리하는 중입니다. 잠시 기다리세요.',
  TOKEN_MISSING: '대기열 정보가 전달되지 않았습니다. 대기열에 다시 들어가세요.',
  TOKEN_INVALID: '대기열 정보가 더 이상 유효하지 않습니다. 대기열에 다시 들어가세요.',
  TOKEN_EXPIRED: '입장 차례가 끝났습니다. 대기열에 다시 들어가세요.',
  TOKEN_NOT_YOURS: '다른 사용자의 대기열 정보입니다.',
  NOT_ADMITTED: '아직 차례가 아닙니다. 대기열에서 기다리세요.',
  QUEUE_FULL: '지금은 대기열이 가득 찼습니다. 잠시 후 다시 시도하세요.',
  BUSY: '서버가 바쁩니다. 잠시 후 다시 시도하세요.',
  OVERLOADED: '서버가 매우 바쁩니다. 잠시 후 다시 시도하세요.',
  DATABASE_UNAVAILABLE: '잠시 예매를 할 수 없습니다. 곧 다시 시도하세요.',
  QUEUE_UNAVAILABLE: '잠시 대기실을 사용할 수 없습니다. 페이지가 다시 시도합니다.',
  CONFLICT_RETRY_EXHAUSTED: '동시에 예매하는 사람이 많습니다. 다시 시도하세요.',
  INTERNAL: '서버에 문제가 생겼습니다. 다시 시도하세요.',
  IDENTITY_REQUIRED: '먼저 티켓 사이트에서 로그인하세요.',
  IDENTITY_INVALID: '로그인 정보가 받아들여지지 않았습니다. 티켓 사이트에서 다시 로그인하세요.',
  IDENTITY_NOT_THIS_USER: '다른 사용자로 로그인되어 있습니다.',
  IDENTITY_UNAVAILABLE: '지금은 로그인을 확인할 수 없습니다. 곧 다시 시도하세요.',
  RATE_LIMITED: '시도가 너무 많습니다. 잠시 기다린 뒤 다시 시도하세요.',
  OPERATOR_KEY_REQUIRED: '운영자 키로 로그인하세요.',
  OPERATOR_KEY_INVALID: '받아들여지지 않는 운영자 키입니다.',
  OPERATOR_KEY_REVOKED: '폐기된 운영자 키입니다.',
  OPERATOR_KEY_NAME_TAKEN: '같은 이름의 운영자 키가 이미 있습니다.',
  OPERATOR_KEY_NOT_FOUND: '그런 운영자 키가 없습니다.',
  SECTION_NOT_FOUND: '이 좌석 배치도에 그런 구역이 없습니다.',
  SEAT_IN_USE: '선점되었거나 팔린 좌석은 바꿀 수 없습니다.',
  SEAT_MAP_INVALID: '좌석 배치도를 읽을 수 없습니다.',
  SEAT_MAP_NOT_EDITABLE: '이 좌석 배치도는 더 이상 고칠 수 없습니다.',
  SOLD_OUT: '매진되었습니다.',
  SALE_CLOSED: '판매가 끝났습니다.',
  NETWORK: '서버에 연결할 수 없습니다. 인터넷 연결을 확인하세요.',
  UNKNOWN: '문제가 생겼습니다. 다시 시도하세요.',
};
