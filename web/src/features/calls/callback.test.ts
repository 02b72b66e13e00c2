import { describe, expect, it } from 'vitest';
import { callbackNumber } from './callback';

describe('call back number', () => {
  it('dials the callback number the caller gave, not the caller ID', () => {
    expect(callbackNumber({ customerNumber: '+14505550142', lead: { phone: '+15145550177' } })).toBe('+15145550177');
  });

  it('dials the caller ID when the lead has no usable number', () => {
    expect(callbackNumber({ customerNumber: '+14505550142', lead: { phone: null } })).toBe('+14505550142');
    expect(callbackNumber({ customerNumber: '+14505550142', lead: { phone: '438 555' } })).toBe('+14505550142');
    expect(callbackNumber({ customerNumber: '+14505550142', lead: null })).toBe('+14505550142');
  });

  it('a hidden caller ID without a callback number gives nothing to dial', () => {
    expect(callbackNumber({ customerNumber: 'anonymous', lead: null })).toBeNull();
    expect(callbackNumber({ customerNumber: null })).toBeNull();
  });

  it('a hidden caller ID with a callback number dials the callback number', () => {
    expect(callbackNumber({ customerNumber: 'anonymous', lead: { phone: '+14385550198' } })).toBe('+14385550198');
  });
});
