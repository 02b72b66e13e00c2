namespace Switchboard.Knowledge;

/// <summary>
/// The demo tenant's knowledge base (Drain Fortin, plumbing near Montréal): services, hours, areas served and the
/// emergency pricing policy, in French and in English, so the offline receptionist and the tools have something to
/// answer from on a fresh clone. Figures are the demo's own, not advice.
/// </summary>
internal static class DemoKnowledge
{
    public static readonly (string Title, string Markdown)[] Documents =
    [
        ("Services — Drain Fortin", """
            # Services de Drain Fortin

            ## Débouchage de drains et d'égouts
            Nous débouchons les éviers, toilettes, baignoires, drains de plancher et drains principaux. Nous utilisons un furet
            motorisé et, au besoin, l'hydrojet à haute pression. Une inspection par caméra est proposée si le drain se bouche souvent.

            ## Sous-sol inondé et refoulement d'égout
            Un sous-sol inondé ou un refoulement d'égout est une urgence : le plombier de garde est texté immédiatement, 24 heures
            sur 24, 7 jours sur 7. En attendant, coupez l'eau à l'entrée principale si l'eau vient d'un tuyau, éloignez-vous des
            prises électriques mouillées et ne videz pas d'eau dans les drains. Nous installons aussi des clapets antiretour et des
            pompes de puisard pour éviter que ça recommence.

            ## Chauffe-eau
            Réparation et remplacement de chauffe-eau électriques et au gaz de 40 et 60 gallons. Un chauffe-eau qui fuit par le
            bas doit être remplacé ; fermez l'eau froide à l'entrée du chauffe-eau en attendant.

            ## Tuyaux gelés ou éclatés
            Dégel de tuyaux gelés sans flamme et réparation de tuyaux éclatés, en cuivre, PEX ou ABS. Un tuyau éclaté est une urgence.

            ## Inspection par caméra
            Inspection vidéo des drains jusqu'à 60 mètres, avec rapport et localisation du bris. Utile avant l'achat d'une maison.
            """),
        ("Services — Drain Fortin (English)", """
            # Drain Fortin services

            ## Drain and sewer cleaning
            We unclog sinks, toilets, bathtubs, floor drains and main drains with a motorised snake and, when needed, high-pressure
            hydro-jetting. A camera inspection is offered when a drain keeps clogging.

            ## Flooded basement and sewer backup
            A flooded basement or a sewer backup is an emergency: the on-call plumber is texted at once, 24/7. Meanwhile, shut the
            main water valve if the water comes from a pipe, stay away from wet electrical outlets and do not pour water down the
            drains. We also install backwater valves and sump pumps so it does not happen again.

            ## Water heaters
            Repair and replacement of 40 and 60 gallon electric and gas water heaters. A water heater leaking from the bottom must be
            replaced; close the cold-water inlet valve in the meantime.

            ## Frozen or burst pipes
            Flame-free thawing of frozen pipes and repair of burst copper, PEX or ABS pipes. A burst pipe is an emergency.

            ## Camera inspection
            Video inspection of drains up to 60 metres, with a report and the location of the break. Useful before buying a house.
            """),
        ("Heures, territoire et tarifs", """
            # Heures, territoire et tarifs

            ## Heures d'ouverture
            Le bureau est ouvert du lundi au vendredi de 7 h 30 à 17 h 30 et le samedi de 9 h à midi. Fermé le dimanche, à Noël
            et au jour de l'An. Les urgences (inondation, refoulement d'égout, tuyau éclaté ou gelé, plus d'eau) sont prises
            24 heures sur 24, 7 jours sur 7 par le plombier de garde.

            ## Territoire desservi
            Montréal, Laval, Longueuil, Brossard, la Rive-Sud jusqu'à Saint-Jean-sur-Richelieu et la Rive-Nord jusqu'à Terrebonne
            et Blainville. Hors territoire : des frais de déplacement supplémentaires s'appliquent, confirmés avant la visite.

            ## Tarifs des appels d'urgence
            Le déplacement est de 95 $ le jour en semaine. En dehors des heures d'ouverture, la fin de semaine et les jours fériés,
            le déplacement d'urgence est de 175 $, plus 145 $ de l'heure sur place, par tranche de 30 minutes après la première
            heure. Les pièces sont en sus. Le prix est confirmé au téléphone avant le départ du plombier ; aucun travail n'est
            commencé sans l'accord du client. Paiement par carte, virement Interac ou chèque.
            """),
        ("Hours, areas served and pricing", """
            # Hours, areas served and pricing

            ## Business hours
            The office is open Monday to Friday from 7:30 a.m. to 5:30 p.m. and Saturday from 9 a.m. to noon. Closed on Sunday,
            Christmas Day and New Year's Day. Emergencies (flooding, sewer backup, burst or frozen pipe, no water) are handled
            24/7 by the on-call plumber.

            ## Areas served
            Montréal, Laval, Longueuil, Brossard, the South Shore up to Saint-Jean-sur-Richelieu and the North Shore up to
            Terrebonne and Blainville. Outside this area an extra travel fee applies, confirmed before the visit.

            ## Emergency call pricing
            The service call is $95 on weekdays during business hours. After hours, on weekends and on statutory holidays the
            emergency service call is $175, plus $145 per hour on site, billed in 30-minute steps after the first hour. Parts are
            extra. The price is confirmed on the phone before the plumber leaves; no work starts without the customer's approval.
            Payment by card, Interac e-Transfer or cheque.
            """),
    ];

    /// <summary>Adds the documents the tenant does not have yet (same text = same document); returns how many were added.</summary>
    public static async Task<int> SeedAsync(KnowledgeIngestion ingestion, Guid tenantId, CancellationToken ct)
    {
        var added = 0;
        foreach (var (title, markdown) in Documents)
        {
            var (document, _) = await ingestion.AddAsync(tenantId, new KnowledgeDocumentRequest(DocumentExtractor.Markdown, title, markdown, null, null, null), ct);
            added += document is null ? 0 : 1;
        }
        return added;
    }
}
