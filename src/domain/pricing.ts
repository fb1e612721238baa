/** Seat tiers: the front tenth is VIP (3x), the next three tenths R (2x), the rest S (base price). */
export function seatPrice(basePrice: number, seatNumber: number, seatCount: number): number {
  const vip = Math.max(1, Math.floor(seatCount / 10));
  const r = Math.floor((seatCount * 3) / 10);
  if (seatNumber <= vip) return basePrice * 3;
  if (seatNumber <= vip + r) return basePrice * 2;
  return basePrice;
}

export function seatGrade(seatNumber: number, seatCount: number): 'VIP' | 'R' | 'S' {
  const vip = Math.max(1, Math.floor(seatCount / 10));
  const r = Math.floor((seatCount * 3) / 10);
  if (seatNumber <= vip) return 'VIP';
  if (seatNumber <= vip + r) return 'R';
  return 'S';
}
